/** Nova's metadata address, held by every network's service namespace. */
export const METADATA_ADDRESS = '169.254.169.254';

/** What the in-namespace proxy tells the agent of a guest's request (it sets them; a guest cannot). */
export const NETWORK_HEADER = 'x-orrery-network';
export const SOURCE_IP_HEADER = 'x-orrery-source-ip';
export const SOURCE_MAC_HEADER = 'x-orrery-source-mac';
