import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { schemaIssues } from '../../core/validate.ts';
import { stackDocumentSchema, type StackDocument } from '../../schema/documents/stack.ts';
import { CliError } from '../client/errors.ts';

export type DocPath = (string | number)[];

/** A desired-state file, valid against its schema, that can say where in it a field is. */
export interface StackFile {
  file: string;
  doc: StackDocument;
  /** `file:line` of the field at `path` (or of the nearest enclosing one that is there). */
  at(path: DocPath): string;
}

/** A field as users read it: `instances[2].flavor`, `metadata.name`. */
function fieldName(path: DocPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(document)';
}

/** Where an API field error (`input.allocationPools.1.first`) falls in the file, under the item at `base`. */
export const issuePath = (base: DocPath, field: string): DocPath =>
  [...base, ...field.split('.').slice(1).map((p) => (/^\d+$/.test(p) ? Number(p) : p))];

/** One problem, as printed under an error: `fleet.yaml:12: instances[0].flavor: …`. */
export const problem = (stack: Pick<StackFile, 'at'>, path: DocPath, message: string) => `${stack.at(path)}: ${fieldName(path)}: ${message}`;

function locator(file: string, yaml: Document, lines: LineCounter) {
  return (path: DocPath): string => {
    // The deepest node that exists on the path: a missing field is reported where its parent is.
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? yaml.contents : yaml.getIn(path.slice(0, n), true);
      const offset = (node as { range?: [number, number, number] } | null)?.range?.[0];
      if (offset !== undefined) return `${file}:${lines.linePos(offset).line}`;
    }
    return `${file}:1`;
  };
}

/** Names used twice in one list: a file names each resource once. */
function duplicateNames(stack: StackFile): string[] {
  const out: string[] = [];
  for (const list of ['flavors', 'availabilityZones', 'aggregates', 'serverGroups', 'keyPairs', 'networks', 'subnets', 'securityGroups', 'instances'] as const) {
    const first = new Map<string, number>();
    (stack.doc[list] ?? []).forEach(({ name }, i) => {
      const seen = first.get(name);
      if (seen === undefined) first.set(name, i);
      else out.push(problem(stack, [list, i, 'name'], `repeats the name ${JSON.stringify(name)} (first at ${stack.at([list, seen, 'name'])})`));
    });
  }
  return out;
}

/**
 * Reads and checks a stack file: YAML syntax, the JSON Schema (the same rules the API applies to
 * each resource), and names unique per kind. Any problem is a CliError listing each at its line.
 */
export function readStackFile(file: string): StackFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const lines = new LineCounter();
  const yaml = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (yaml.errors.length > 0) {
    throw new CliError(`${file} is not valid YAML`, yaml.errors.map((e) => `${file}:${e.linePos?.[0].line ?? 1}: ${e.message}`));
  }
  const value: unknown = yaml.toJS();
  const at = locator(file, yaml, lines);
  const issues = schemaIssues(stackDocumentSchema, value);
  if (issues.length > 0) {
    throw new CliError(`${file} is not a valid stack document`, issues.map((i) => problem({ at }, i.path, i.message)));
  }
  const stack: StackFile = { file, doc: value as StackDocument, at };
  const dups = duplicateNames(stack);
  if (dups.length > 0) throw new CliError(`${file} is not a valid stack document`, dups);
  return stack;
}
