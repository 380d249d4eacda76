/** What the table shows of an instance; the subscription and the first read ask for the same. */
export const INSTANCE_FIELDS = `id name status vmState powerState taskState desiredPowerState hostName zone locked revision createdAt
  projectId flavor { name } ports { fixedIps { ip } } fault { code message }`;

export interface InstanceView {
  id: string;
  name: string;
  status: string;
  vmState: string;
  powerState: string;
  taskState: string | null;
  desiredPowerState: string;
  hostName: string | null;
  zone: string | null;
  locked: boolean;
  revision: string;
  createdAt: string;
  projectId: string;
  flavor: { name: string };
  ports: { fixedIps: { ip: string }[] }[];
  fault: { code: string; message: string } | null;
}

export const addresses = (i: InstanceView): string[] => i.ports.flatMap((p) => p.fixedIps.map((f) => f.ip));

/** "3 m", "2 h", "5 d": how long ago `iso` was, as an operator reads an age column. */
export function age(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}
