// Handoff conditions on context variables, such as `${collected} == true and ${age} >= 18`:
// parsed once when the workflow loads, evaluated without an LLM and without `eval`. AG2's
// spellings are read too: `True`, `False`, `None` and `len(...)`.
//
//   expr    := or
//   or      := and (("or" | "||") and)*
//   and     := not (("and" | "&&") not)*
//   not     := ("not" | "!") not | compare
//   compare := value (("==" | "!=" | "<" | "<=" | ">" | ">=") value)?
//   value   := "${" name "}" | number | "string" | 'string' | true | false | null | "(" expr ")"
//            | "len" "(" expr ")"

export type Expression =
  | { kind: 'literal'; value: unknown }
  | { kind: 'variable'; name: string }
  | { kind: 'not'; operand: Expression }
  | { kind: 'len'; operand: Expression }
  | { kind: 'logical'; op: 'and' | 'or'; left: Expression; right: Expression }
  | { kind: 'compare'; op: '==' | '!=' | '<' | '<=' | '>' | '>='; left: Expression; right: Expression };

export class ExpressionError extends Error {
  override name = 'ExpressionError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at character ${offset + 1}`);
  }
}

const TOKEN =
  /\s*(\$\{[A-Za-z_][A-Za-z0-9_]*\}|-?\d+(?:\.\d+)?|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|==|!=|<=|>=|&&|\|\||[<>!()]|[A-Za-z_]+)/y;

interface Token {
  text: string;
  offset: number;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    TOKEN.lastIndex = at;
    const match = TOKEN.exec(text);
    if (!match)
      throw new ExpressionError(
        `unexpected "${text.slice(at).trim()[0]}"`,
        at + (text.slice(at).length - text.slice(at).trimStart().length),
      );
    tokens.push({ text: match[1]!, offset: match.index + match[0].length - match[1]!.length });
    at = TOKEN.lastIndex;
  }
  return tokens;
}

/** Parses a condition. @throws ExpressionError naming what is wrong and where. */
export function parseExpression(text: string): Expression {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i]?.text;
  const end = () => tokens[i]?.offset ?? text.length;

  const value = (): Expression => {
    const token = tokens[i++];
    if (!token) throw new ExpressionError('expression ends too early', text.length);
    const t = token.text;
    if (t === '(') {
      const inner = or();
      if (peek() !== ')') throw new ExpressionError('missing ")"', end());
      i++;
      return inner;
    }
    if (t.startsWith('${')) return { kind: 'variable', name: t.slice(2, -1) };
    if (/^-?\d/.test(t)) return { kind: 'literal', value: Number(t) };
    if (t.startsWith('"') || t.startsWith("'"))
      return { kind: 'literal', value: t.slice(1, -1).replace(/\\(.)/g, '$1') };
    if (t === 'true' || t === 'false' || t === 'True' || t === 'False')
      return { kind: 'literal', value: t === 'true' || t === 'True' };
    if (t === 'null' || t === 'None') return { kind: 'literal', value: null };
    if (t === 'len' && peek() === '(') {
      i++;
      const operand = or();
      if (peek() !== ')') throw new ExpressionError('missing ")" after len(', end());
      i++;
      return { kind: 'len', operand };
    }
    throw new ExpressionError(`unexpected "${t}" (variables are written \${name})`, token.offset);
  };
  const compare = (): Expression => {
    const left = value();
    const op = peek();
    if (op === '==' || op === '!=' || op === '<' || op === '<=' || op === '>' || op === '>=') {
      i++;
      return { kind: 'compare', op, left, right: value() };
    }
    return left;
  };
  const not = (): Expression => {
    if (peek() === 'not' || peek() === '!') {
      i++;
      return { kind: 'not', operand: not() };
    }
    return compare();
  };
  /** A left-associative chain of `op` (written either way) over `operand`. */
  const chain = (op: 'and' | 'or', spellings: string[], operand: () => Expression) => (): Expression => {
    let left = operand();
    while (spellings.includes(peek() ?? '')) {
      i++;
      left = { kind: 'logical', op, left, right: operand() };
    }
    return left;
  };
  const and = chain('and', ['and', '&&'], not);
  function or(): Expression {
    return chain('or', ['or', '||'], and)();
  }

  if (tokens.length === 0) throw new ExpressionError('empty condition', 0);
  const expression = or();
  if (i < tokens.length) throw new ExpressionError(`unexpected "${tokens[i]!.text}"`, tokens[i]!.offset);
  return expression;
}

/** The names of the context variables an expression reads. */
export function expressionVariables(expression: Expression): string[] {
  switch (expression.kind) {
    case 'literal':
      return [];
    case 'variable':
      return [expression.name];
    case 'not':
    case 'len':
      return expressionVariables(expression.operand);
    default:
      return [...expressionVariables(expression.left), ...expressionVariables(expression.right)];
  }
}

/** Evaluates an expression on context variables; a missing variable reads as null. */
export function evaluateExpression(expression: Expression, variables: Readonly<Record<string, unknown>>): unknown {
  switch (expression.kind) {
    case 'literal':
      return expression.value;
    case 'variable':
      return variables[expression.name] ?? null;
    case 'not':
      return !evaluateExpression(expression.operand, variables);
    case 'len': {
      // As Python's len: characters, items or keys; anything else (null) has no length: 0.
      const value = evaluateExpression(expression.operand, variables);
      if (typeof value === 'string' || Array.isArray(value)) return value.length;
      return typeof value === 'object' && value !== null ? Object.keys(value).length : 0;
    }
    case 'logical': {
      const left = Boolean(evaluateExpression(expression.left, variables));
      if (expression.op === 'and') return left && Boolean(evaluateExpression(expression.right, variables));
      return left || Boolean(evaluateExpression(expression.right, variables));
    }
    case 'compare': {
      const a = evaluateExpression(expression.left, variables);
      const b = evaluateExpression(expression.right, variables);
      switch (expression.op) {
        case '==':
          return JSON.stringify(a) === JSON.stringify(b);
        case '!=':
          return JSON.stringify(a) !== JSON.stringify(b);
        default: {
          if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string')) return false;
          const [x, y] = [a, b as number | string];
          return expression.op === '<'
            ? x < y
            : expression.op === '<='
              ? x <= y
              : expression.op === '>'
                ? x > y
                : x >= y;
        }
      }
    }
  }
}
