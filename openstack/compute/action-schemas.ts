/**
 * The body of each server action, after nova/api/openstack/compute/schemas/*.py: the action's
 * key names the action, its value is checked against the schema here before anything runs.
 */
const nothing = { type: ['null', 'object'] } as const;
const host = { type: ['string', 'null'], minLength: 1, maxLength: 255 } as const;
const str = { type: 'string', minLength: 1, maxLength: 255 } as const;

export const ACTION_SCHEMAS = {
  'os-start': nothing,
  'os-stop': nothing,
  pause: nothing,
  unpause: nothing,
  suspend: nothing,
  resume: nothing,
  lock: { type: ['null', 'object'], additionalProperties: false, properties: { locked_reason: { type: 'string', maxLength: 255 } } },
  unlock: nothing,
  reboot: { type: 'object', required: ['type'], additionalProperties: false, properties: { type: { enum: ['HARD', 'SOFT', 'hard', 'soft'] } } },
  shelve: nothing,
  shelveOffload: nothing,
  unshelve: { type: ['null', 'object'], additionalProperties: false, properties: { availability_zone: { type: ['string', 'null'] }, host } },
  resize: { type: 'object', required: ['flavorRef'], properties: { flavorRef: str, 'OS-DCF:diskConfig': { type: 'string' } } },
  confirmResize: nothing,
  revertResize: nothing,
  migrate: { type: ['null', 'object'], additionalProperties: false, properties: { host } },
  'os-migrateLive': {
    type: 'object', required: ['host'],
    properties: { host, block_migration: { type: ['boolean', 'string'] }, force: { type: 'boolean' }, disk_over_commit: { type: ['boolean', 'string'] } },
  },
  evacuate: { type: ['null', 'object'], properties: { host, force: { type: 'boolean' }, onSharedStorage: { type: ['boolean', 'string'] }, adminPass: { type: 'string' } } },
  rescue: { type: ['null', 'object'], properties: { rescue_image_ref: { type: 'string' }, adminPass: { type: 'string' } } },
  unrescue: nothing,
  rebuild: {
    type: 'object', required: ['imageRef'],
    properties: { imageRef: str, name: str, metadata: { type: 'object', additionalProperties: { type: 'string', maxLength: 255 } } },
  },
  createImage: {
    type: 'object', required: ['name'],
    properties: { name: str, metadata: { type: 'object', additionalProperties: { type: 'string', maxLength: 255 } } },
  },
  'os-getConsoleOutput': { type: 'object', properties: { length: { type: ['integer', 'string', 'null'] } } },
  'os-getVNCConsole': { type: 'object', required: ['type'], properties: { type: { enum: ['novnc', 'xvpvnc'] } } },
  'os-getSerialConsole': { type: 'object', required: ['type'], properties: { type: { const: 'serial' } } },
} as const;

export type ActionName = keyof typeof ACTION_SCHEMAS;

export const remoteConsoleSchema = {
  $id: 'openstack/compute/remote-console',
  type: 'object',
  required: ['remote_console'],
  properties: {
    remote_console: {
      type: 'object', required: ['protocol', 'type'], additionalProperties: false,
      properties: { protocol: { enum: ['vnc', 'serial'] }, type: { enum: ['novnc', 'serial'] } },
    },
  },
} as const;

/** One ajv schema per action, registered by $id; exactly one known action key per body. */
export function actionSchema(name: ActionName) {
  return { $id: `openstack/compute/action/${name}`, type: 'object', required: [name], maxProperties: 1, properties: { [name]: ACTION_SCHEMAS[name] } };
}
