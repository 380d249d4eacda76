/** A parsed policy rule: a tree of terms joined by and/or. */
export type RuleNode =
  | { kind: 'term'; term: string }
  | { kind: 'and' | 'or'; left: RuleNode; right: RuleNode };

export class PolicySyntaxError extends Error {}

const TERM = /^(role:(reader|member|admin)|principal:(host|enrollment)|@|!)$/;

export function parseRule(text: string): RuleNode {
  const tokens = text.match(/\(|\)|[^\s()]+/g) ?? [];
  let pos = 0;
  const peek = () => tokens[pos];
  const fail = (why: string): never => {
    throw new PolicySyntaxError(`policy rule ${JSON.stringify(text)}: ${why}`);
  };
  const primary = (): RuleNode => {
    const t = tokens[pos++];
    if (t === undefined) return fail('unexpected end');
    if (t === '(') {
      const inner = or();
      if (tokens[pos++] !== ')') fail('missing )');
      return inner;
    }
    if (!TERM.test(t)) fail(`unknown term ${JSON.stringify(t)}`);
    return { kind: 'term', term: t };
  };
  const and = (): RuleNode => {
    let left = primary();
    while (peek() === 'and') {
      pos++;
      left = { kind: 'and', left, right: primary() };
    }
    return left;
  };
  const or = (): RuleNode => {
    let left = and();
    while (peek() === 'or') {
      pos++;
      left = { kind: 'or', left, right: and() };
    }
    return left;
  };
  const tree = or();
  if (pos !== tokens.length) fail(`unexpected ${JSON.stringify(peek())}`);
  return tree;
}

export function evaluateRule(node: RuleNode, holds: (term: string) => boolean): boolean {
  switch (node.kind) {
    case 'term':
      return holds(node.term);
    case 'and':
      return evaluateRule(node.left, holds) && evaluateRule(node.right, holds);
    case 'or':
      return evaluateRule(node.left, holds) || evaluateRule(node.right, holds);
  }
}
