/**
 * Nova's extra-spec operators: a requirement such as ">= 4", "s== x86_64", "<in> avx2",
 * "<all-in> avx2 aes" or "<or> kvm <or> qemu" against one value a host (or aggregate) offers.
 * A requirement without an operator is an exact string match.
 */
export type Offered = string | number | boolean | readonly unknown[] | null | undefined;

function num(x: unknown): number {
  return typeof x === 'number' ? x : typeof x === 'string' && x.trim() !== '' ? Number(x) : NaN;
}

const numeric = (cmp: (a: number, b: number) => boolean) => (x: Offered, y: string) => {
  const a = num(x);
  const b = num(y);
  return !Number.isNaN(a) && !Number.isNaN(b) && cmp(a, b);
};

const text = (cmp: (a: string, b: string) => boolean) => (x: Offered, y: string) => cmp(String(x), y);

const contains = (x: Offered, y: string) => (Array.isArray(x) ? x.map(String).includes(y) : String(x).includes(y));

const binary: Record<string, (x: Offered, y: string) => boolean> = {
  // "=" means "at least", as in Nova: a host offering 8 satisfies "= 4".
  '=': numeric((a, b) => a >= b),
  '==': numeric((a, b) => a === b),
  '!=': numeric((a, b) => a !== b),
  '>=': numeric((a, b) => a >= b),
  '<=': numeric((a, b) => a <= b),
  's==': text((a, b) => a === b),
  's!=': text((a, b) => a !== b),
  's<': text((a, b) => a < b),
  's<=': text((a, b) => a <= b),
  's>': text((a, b) => a > b),
  's>=': text((a, b) => a >= b),
  '<in>': contains,
};

export function matchesExtraSpec(offered: Offered, requirement: string): boolean {
  const words = requirement.trim().split(/\s+/);
  const op = words[0] ?? '';
  if (op !== '<or>' && op !== '<all-in>' && !(op in binary)) {
    return offered !== null && offered !== undefined && !Array.isArray(offered) && String(offered) === requirement;
  }
  if (offered === null || offered === undefined) return false;
  const operands = words.slice(1);
  if (op === '<or>') return operands.filter((w) => w !== '<or>').some((w) => String(offered) === w);
  if (operands.length === 0) return false;
  if (op === '<all-in>') return operands.every((w) => contains(offered, w));
  return binary[op]!(offered, operands[0]!);
}
