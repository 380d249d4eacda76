import type { Command } from 'commander';
import { clientAction } from './action.ts';
import { withConnection } from './connection.ts';
import { ERROR_FIELDS, unwrap } from './errors.ts';
import { followInstance, settlesAt } from './follow.ts';
import { collect, wholeNumber } from './format.ts';
import { fileChecksum, uploadImageFile } from './image-upload.ts';

const say = (line: string) => process.stdout.write(line + '\n');

export function registerCreate(program: Command): void {
  const create = program.command('create').description('create a flavor, zone, instance, image or enrollment token');

  withConnection(
    create
      .command('flavor')
      .description('create a flavor (admins)')
      .argument('<name>')
      .requiredOption('--vcpus <n>', 'virtual CPUs', wholeNumber)
      .requiredOption('--ram <MiB>', 'memory in MiB', wholeNumber)
      .requiredOption('--disk <GiB>', 'root disk in GiB', wholeNumber)
      .option('--private', 'visible only to projects it is shared with'),
  ).action(
    clientAction(async ({ client }, name: string, o: { vcpus: number; ram: number; disk: number; private?: boolean }) => {
      const d = await client.request(
        `mutation($i: FlavorInput!) { createFlavor(input: $i) { ${ERROR_FIELDS} ... on CreateFlavorSuccess { flavor { id name } } } }`,
        { i: { name, vcpus: o.vcpus, ramMb: o.ram, diskGb: o.disk, ...(o.private ? { isPublic: false } : {}) } },
      );
      const { flavor } = unwrap(d.createFlavor);
      say(`flavor/${flavor.name} created (id ${flavor.id})`);
    }),
  );

  withConnection(
    create.command('zone').description('create an availability zone (admins)').argument('<name>').option('--description <text>'),
  ).action(
    clientAction(async ({ client }, name: string, o: { description?: string }) => {
      const d = await client.request(
        `mutation($i: AvailabilityZoneInput!) { createAvailabilityZone(input: $i) {
          ${ERROR_FIELDS} ... on CreateAvailabilityZoneSuccess { availabilityZone { id name } } } }`,
        { i: { name, description: o.description } },
      );
      const { availabilityZone: z } = unwrap(d.createAvailabilityZone);
      say(`zone/${z.name} created (id ${z.id})`);
    }),
  );

  withConnection(
    create
      .command('instance')
      .description('create an instance; it builds in the background unless --wait')
      .argument('<name>')
      .requiredOption('--flavor <flavor>', 'flavor name or ID')
      .requiredOption('--image <image>', 'image name or ID')
      .option('--zone <zone>', 'availability zone')
      .option('--tag <tag>', 'a server tag (repeat for more)', collect, [])
      .option('--wait', 'follow the build until ACTIVE (exit 0) or ERROR (exit 1)'),
  ).action(
    clientAction(async ({ client }, name: string, o: { flavor: string; image: string; zone?: string; tag: string[]; wait?: boolean }) => {
      const d = await client.request(
        `mutation($i: CreateInstanceInput!) { createInstance(input: $i) {
          ${ERROR_FIELDS} ... on CreateInstanceSuccess { instance { id name generation } } } }`,
        { i: { name, flavor: o.flavor, image: o.image, zone: o.zone, ...(o.tag.length > 0 ? { tags: o.tag } : {}) } },
      );
      const { instance } = unwrap(d.createInstance);
      say(`instance/${instance.name} created (id ${instance.id})`);
      if (o.wait) await followInstance(client, instance.id, instance.name, settlesAt('ACTIVE', instance.generation));
    }),
  );

  withConnection(
    create
      .command('image')
      .description('create an image and upload its file')
      .argument('<name>')
      .requiredOption('--file <path>', 'the disk image file')
      .requiredOption('--disk-format <format>', 'qcow2 or raw')
      .option('--public', 'visible to every project (admins)'),
  ).action(
    clientAction(async (conn, name: string, o: { file: string; diskFormat: string; public?: boolean }) => {
      const { sha256, size } = await fileChecksum(o.file);
      const d = await conn.client.request(
        `mutation($i: ImageInput!) { createImage(input: $i) { ${ERROR_FIELDS} ... on CreateImageSuccess { image { id name } } } }`,
        { i: { name, diskFormat: o.diskFormat, checksum: sha256, visibility: o.public ? 'public' : 'private' } },
      );
      const { image } = unwrap(d.createImage);
      say(`image/${image.name} created (id ${image.id}); uploading ${size} bytes`);
      await uploadImageFile(conn, image.id, o.file);
      say(`image/${image.name} active (sha256 ${sha256})`);
    }),
  );

  withConnection(
    create
      .command('enrollment-token')
      .description('create a token a new compute host enrolls with (admins)')
      .option('--description <text>')
      .option('--expires-in <seconds>', 'lifetime (default: never expires)', wholeNumber),
  ).action(
    clientAction(async ({ client }, o: { description?: string; expiresIn?: number }) => {
      const d = await client.request(
        `mutation($d: String, $e: Int) { createEnrollmentToken(description: $d, expiresInSeconds: $e) {
          ${ERROR_FIELDS} ... on CreateEnrollmentTokenSuccess { token { id secret expiresAt } } } }`,
        { d: o.description, e: o.expiresIn },
      );
      const { token } = unwrap(d.createEnrollmentToken);
      say(token.secret);
      process.stderr.write(
        `Enrollment token ${token.id}${token.expiresAt ? `, expires ${token.expiresAt}` : ''}; shown only once. On the new host:\n` +
          `  orrery hostagent --enrollment-token <the token above>\n`,
      );
    }),
  );
}
