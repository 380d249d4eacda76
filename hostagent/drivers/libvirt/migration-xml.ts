/**
 * The domain XML the destination defines on a live migration: the same guest (libvirt checks the
 * ABI is unchanged) with its files under the destination's instance folder. The backing chain is
 * left out: the destination's disk is a standalone copy, and libvirt reads its chain from the file.
 */
export function migrationXml(domainXml: string, sourceDir: string, destDir: string): string {
  const from = `${sourceDir.replace(/\/+$/, '')}/`;
  if (!domainXml.includes(from)) throw new Error(`domain XML does not refer to ${from}: not a domain this driver defined`);
  let xml = domainXml.replaceAll(from, `${destDir.replace(/\/+$/, '')}/`).replace(/<backingStore\s*\/>/g, '');
  // Innermost first, until no chain element is left (chains nest one element per layer).
  const innermost = /<backingStore\b[^>]*>(?:(?!<backingStore\b)[\s\S])*?<\/backingStore>/g;
  for (let before = ''; before !== xml; ) {
    before = xml;
    xml = xml.replace(innermost, '');
  }
  return xml;
}
