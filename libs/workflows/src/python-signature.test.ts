// A Python tool's schema read from its source as AG2 derives it.
import { readPythonSignature } from './python-signature';

describe('readPythonSignature', () => {
  it('turns type hints, Annotated descriptions, defaults and the docstring into the schema', () => {
    const source = [
      'import typing',
      'def helper(): pass',
      '',
      'async def search(',
      '    query: Annotated[str, "What to look for"],',
      '    limit: int = 10,  # how many',
      '    kinds: List[Literal["a", "b"]] | None = None,',
      '    filters: Dict[str, Any] = {},',
      '    *,',
      '    exact: bool = False,',
      '    score: float,',
      '    context_variables: Any = None,',
      '    **rest,',
      ') -> dict:',
      '    """Search the catalogue.',
      '',
      '    Longer text.',
      '',
      '    Args:',
      '        limit: At most this many results.',
      '        exact (bool): Only exact matches.',
      '    """',
      '    return {}',
    ].join('\n');
    expect(readPythonSignature(source, 'search')).toEqual({
      description: 'Search the catalogue.',
      takesContext: true,
      parameters: {
        type: 'object',
        properties: {
          query: { type: 'string', description: 'What to look for' },
          limit: { type: 'integer', description: 'At most this many results.' },
          kinds: { anyOf: [{ type: 'array', items: { enum: ['a', 'b'] } }, { type: 'null' }] },
          filters: { type: 'object' },
          exact: { type: 'boolean', description: 'Only exact matches.' },
          score: { type: 'number' },
        },
        required: ['query', 'score'],
        additionalProperties: false,
      },
    });
  });

  it('finds only top-level functions, and knows functions without hints or docstrings', () => {
    expect(readPythonSignature('class A:\n    def go(self): pass\n', 'go')).toBeUndefined();
    expect(readPythonSignature("def go(a, b='x'):\n    return a\n", 'go')).toEqual({
      takesContext: false,
      parameters: { type: 'object', properties: { a: {}, b: {} }, required: ['a'], additionalProperties: false },
    });
  });
});
