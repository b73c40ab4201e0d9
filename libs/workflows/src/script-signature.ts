// A JavaScript or TypeScript tool's parameters from its source, when tools.yaml gives none: the
// declared type of the function's first parameter (the arguments object) becomes the JSON Schema
// offered to the model, and its doc comment the tool's description. TypeScript reads the types of
// a .ts file, and the JSDoc of a .js one (`@param {{to: string}} args` or `@param {string}
// args.to`). Read with the TypeScript parser alone: nothing runs, nothing is type-checked.
import type * as Ts from 'typescript';

export interface ScriptSignature {
  /** JSON Schema of the arguments the model gives; absent when nothing could be told. */
  parameters?: Record<string, unknown>;
  /** The function's doc comment, first paragraph. */
  description?: string;
}

type Json = Record<string, unknown>;

let typescript: typeof Ts | undefined;
/** The TypeScript parser, loaded on first use (its size is paid only by folders that need it). */
function ts(): typeof Ts {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  typescript ??= require('typescript') as typeof Ts;
  return typescript;
}

/** The exported function `name` of a .js/.mjs/.cjs/.ts source, or undefined when it has none the parser can see. */
export function readScriptSignature(source: string, file: string, name: string): ScriptSignature | undefined {
  const t = ts();
  const kind = file.endsWith('.ts') ? t.ScriptKind.TS : t.ScriptKind.JS;
  const sf = t.createSourceFile(file, source, t.ScriptTarget.Latest, true, kind);
  const fn = findFunction(t, sf, name);
  if (!fn) return undefined;
  const description = docDescription(t, fn);
  const [first] = fn.parameters;
  let parameters: Json | undefined;
  if (first) {
    const tags = docsOf(t, fn)
      .flatMap((doc) => doc.tags ?? [])
      .filter(t.isJSDocParameterTag);
    // The type written on the parameter, or in its JSDoc `@param {…} args`.
    const own = tags.find(
      (tag) => t.isIdentifier(tag.name) && t.isIdentifier(first.name) && tag.name.text === first.name.text,
    );
    const declared = first.type ?? own?.typeExpression?.type;
    if (declared) parameters = objectSchema(t, sf, declared, new Set());
  }
  return { ...(parameters ? { parameters } : {}), ...(description ? { description } : {}) };
}

function findFunction(t: typeof Ts, sf: Ts.SourceFile, name: string): Ts.SignatureDeclaration | undefined {
  let found: Ts.SignatureDeclaration | undefined;
  const visit = (node: Ts.Node): void => {
    if (found) return;
    if (t.isFunctionDeclaration(node) && node.name?.text === name) found = node;
    else if (
      t.isVariableDeclaration(node) &&
      t.isIdentifier(node.name) &&
      node.name.text === name &&
      node.initializer &&
      (t.isArrowFunction(node.initializer) || t.isFunctionExpression(node.initializer))
    ) {
      found = node.initializer;
    } else if (
      t.isPropertyAssignment(node) &&
      propertyName(t, node.name) === name &&
      (t.isArrowFunction(node.initializer) || t.isFunctionExpression(node.initializer))
    ) {
      found = node.initializer;
    } else if (t.isMethodDeclaration(node) && propertyName(t, node.name) === name) found = node;
    else if (
      t.isBinaryExpression(node) &&
      node.operatorToken.kind === t.SyntaxKind.EqualsToken &&
      t.isPropertyAccessExpression(node.left) &&
      node.left.name.text === name &&
      (t.isArrowFunction(node.right) || t.isFunctionExpression(node.right))
    ) {
      found = node.right;
    }
    t.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

function propertyName(t: typeof Ts, name: Ts.PropertyName): string | undefined {
  return t.isIdentifier(name) || t.isStringLiteral(name) ? name.text : undefined;
}

/** The doc comments of a function, and of the statement that holds it (`export const f = …`, `exports.f = …`). */
function docsOf(t: typeof Ts, fn: Ts.Node): Ts.JSDoc[] {
  let holder: Ts.Node = fn;
  while (
    holder.parent &&
    !t.isSourceFile(holder.parent) &&
    (t.isVariableDeclaration(holder.parent) ||
      t.isVariableDeclarationList(holder.parent) ||
      t.isVariableStatement(holder.parent) ||
      t.isPropertyAssignment(holder.parent) ||
      t.isBinaryExpression(holder.parent) ||
      t.isExpressionStatement(holder.parent))
  )
    holder = holder.parent;
  return [...t.getJSDocCommentsAndTags(fn), ...(holder === fn ? [] : t.getJSDocCommentsAndTags(holder))].filter(
    (d): d is Ts.JSDoc => t.isJSDoc(d),
  );
}

/** The doc comment of a function, first paragraph. */
function docDescription(t: typeof Ts, fn: Ts.Node): string | undefined {
  for (const doc of docsOf(t, fn)) {
    const text = commentText(t, doc.comment);
    const paragraph = text
      ?.split(/\n\s*\n/)[0]
      ?.replace(/\s+/g, ' ')
      .trim();
    if (paragraph) return paragraph;
  }
  return undefined;
}

function commentText(t: typeof Ts, comment: string | Ts.NodeArray<Ts.JSDocComment> | undefined): string | undefined {
  if (comment === undefined) return undefined;
  return typeof comment === 'string' ? comment : comment.map((part) => part.text).join('');
}

/** The schema of the arguments object: an object type's properties, each required unless optional. */
function objectSchema(t: typeof Ts, sf: Ts.SourceFile, node: Ts.TypeNode, seen: Set<string>): Json | undefined {
  const schema = typeSchema(t, sf, node, seen);
  return schema.type === 'object' && 'properties' in schema ? schema : undefined;
}

function members(t: typeof Ts, sf: Ts.SourceFile, elements: readonly Ts.TypeElement[], seen: Set<string>): Json {
  const properties: Json = {};
  const required: string[] = [];
  for (const member of elements) {
    if (!t.isPropertySignature(member) || !member.name) continue;
    const key = propertyName(t, member.name);
    if (!key) continue;
    const doc = t
      .getJSDocCommentsAndTags(member)
      .map((d) => (t.isJSDoc(d) ? commentText(t, d.comment) : undefined))
      .find(Boolean)
      ?.trim();
    properties[key] = {
      ...(member.type ? typeSchema(t, sf, member.type, seen) : {}),
      ...(doc ? { description: doc } : {}),
    };
    if (!member.questionToken) required.push(key);
  }
  return { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false };
}

/** The JSON Schema type of each TypeScript keyword type. */
function keywordType(t: typeof Ts): Map<Ts.SyntaxKind, string> {
  const K = t.SyntaxKind;
  return new Map([
    [K.StringKeyword, 'string'],
    [K.NumberKeyword, 'number'],
    [K.BigIntKeyword, 'integer'],
    [K.BooleanKeyword, 'boolean'],
    [K.NullKeyword, 'null'],
    [K.ObjectKeyword, 'object'],
  ]);
}

/** A type as JSON Schema; what cannot be told is left open (`{}`). */
function typeSchema(t: typeof Ts, sf: Ts.SourceFile, node: Ts.TypeNode, seen: Set<string>): Json {
  const K = t.SyntaxKind;
  const keyword = keywordType(t).get(node.kind);
  if (keyword) return { type: keyword };
  if (
    t.isParenthesizedTypeNode(node) ||
    t.isJSDocNullableType(node) ||
    t.isJSDocNonNullableType(node) ||
    t.isJSDocOptionalType(node)
  )
    return typeSchema(t, sf, node.type, seen);
  if (t.isLiteralTypeNode(node)) {
    const lit = node.literal;
    if (t.isStringLiteral(lit)) return { const: lit.text };
    if (t.isNumericLiteral(lit)) return { const: Number(lit.text) };
    if (lit.kind === K.TrueKeyword) return { const: true };
    if (lit.kind === K.FalseKeyword) return { const: false };
    if (lit.kind === K.NullKeyword) return { type: 'null' };
    return {};
  }
  if (t.isArrayTypeNode(node)) return { type: 'array', items: typeSchema(t, sf, node.elementType, seen) };
  if (t.isTupleTypeNode(node))
    return {
      type: 'array',
      prefixItems: node.elements.map((e) => typeSchema(t, sf, t.isNamedTupleMember(e) ? e.type : e, seen)),
    };
  if (t.isTypeLiteralNode(node)) return members(t, sf, node.members, seen);
  if (t.isUnionTypeNode(node)) {
    const variants = node.types.filter((v) => v.kind !== K.UndefinedKeyword).map((v) => typeSchema(t, sf, v, seen));
    if (variants.length === 1) return variants[0]!;
    // 'a' | 'b' is an enum.
    if (variants.every((v) => 'const' in v && Object.keys(v).length === 1))
      return { enum: variants.map((v) => v.const) };
    return { anyOf: variants };
  }
  if (t.isTypeReferenceNode(node)) {
    const name = t.isIdentifier(node.typeName) ? node.typeName.text : node.typeName.right.text;
    const args = node.typeArguments ?? [];
    if ((name === 'Array' || name === 'ReadonlyArray') && args[0])
      return { type: 'array', items: typeSchema(t, sf, args[0], seen) };
    if (name === 'Record' && args[1]) return { type: 'object', additionalProperties: typeSchema(t, sf, args[1], seen) };
    if (name === 'Date') return { type: 'string', format: 'date-time' };
    if (name === 'String') return { type: 'string' };
    if (name === 'Number') return { type: 'number' };
    if (name === 'Boolean') return { type: 'boolean' };
    if (name === 'Object') return { type: 'object' };
    // An interface or type alias of the same file, once (no recursion).
    if (seen.has(name)) return {};
    const declaration = sf.statements.find(
      (s): s is Ts.InterfaceDeclaration | Ts.TypeAliasDeclaration =>
        (t.isInterfaceDeclaration(s) || t.isTypeAliasDeclaration(s)) && s.name.text === name,
    );
    if (!declaration) return {};
    const inner = new Set(seen).add(name);
    return t.isInterfaceDeclaration(declaration)
      ? members(t, sf, declaration.members, inner)
      : typeSchema(t, sf, declaration.type, inner);
  }
  // `@param {object} args` with `@param {string} args.to` tags after it: TypeScript folds those in.
  if (t.isJSDocTypeLiteral(node)) return propertyTags(t, sf, node.jsDocPropertyTags ?? []) ?? { type: 'object' };
  return {};
}

/** `@param {string} [args.to] - the address` tags as an object's properties (bracketed: optional). */
function propertyTags(t: typeof Ts, sf: Ts.SourceFile, tags: readonly Ts.JSDocPropertyLikeTag[]): Json | undefined {
  const properties: Json = {};
  const required: string[] = [];
  for (const tag of tags) {
    const key = t.isIdentifier(tag.name) ? tag.name.text : tag.name.right.text;
    const doc = commentText(t, tag.comment)
      ?.replace(/^\s*-\s*/, '')
      .trim();
    const type = tag.typeExpression?.type;
    properties[key] = { ...(type ? typeSchema(t, sf, type, new Set()) : {}), ...(doc ? { description: doc } : {}) };
    if (!tag.isBracketed) required.push(key);
  }
  if (Object.keys(properties).length === 0) return undefined;
  return { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false };
}
