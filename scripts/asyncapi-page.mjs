// Renders libs/protocol/asyncapi.yaml's document as one readable HTML page (asyncapi.html):
// servers, channels, operations, each message with its schema and example. Used by
// `npm run asyncapi`; the protocol's test checks the page is current.

const escape = (text) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const code = (value) => `<pre><code>${escape(JSON.stringify(value, null, 2))}</code></pre>`;

/** The document as one readable HTML page: servers, channels, operations, each message with its schema and example. */
export function asyncApiHtml(doc) {
  const { info, servers, channels, operations } = doc;
  const { messages } = doc.components;
  const anchor = (name) => `message-${name}`;
  return [
    '<!doctype html>',
    `<html lang="en"><head><meta charset="utf-8"><title>${escape(info.title)} ${escape(info.version)}: AsyncAPI</title>`,
    '<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1a1a1a}code,pre{font-family:ui-monospace,monospace;font-size:.85rem}pre{background:#f4f4f4;padding:.75rem;overflow:auto}table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}</style>',
    '</head><body><main>',
    `<h1>${escape(info.title)} <small>${escape(info.version)}</small></h1>`,
    `<p>${escape(info.description)}</p><p>Generated from <code>libs/protocol/asyncapi.yaml</code> (AsyncAPI ${escape(String(doc.asyncapi))}).</p>`,
    '<h2>Servers</h2><table><tr><th>name</th><th>protocol</th><th>host</th><th>what</th></tr>',
    ...Object.entries(servers).map(
      ([name, s]) =>
        `<tr><td>${escape(name)}</td><td>${escape(s.protocol)}</td><td><code>${escape(s.host)}</code></td><td>${escape(s.description)}</td></tr>`,
    ),
    '</table><h2>Channels</h2><table><tr><th>channel</th><th>address</th><th>what</th><th>messages</th></tr>',
    ...Object.entries(channels).map(
      ([name, c]) =>
        `<tr><td>${escape(name)}</td><td><code>${escape(c.address)}</code></td><td>${escape(c.description)}</td><td>${Object.keys(
          c.messages,
        )
          .map((m) => `<a href="#${anchor(m)}">${escape(messages[m]?.title ?? m)}</a>`)
          .join(', ')}</td></tr>`,
    ),
    '</table><h2>Operations</h2><table><tr><th>operation</th><th>action</th><th>channel</th><th>what</th></tr>',
    ...Object.entries(operations).map(
      ([name, o]) =>
        `<tr><td>${escape(name)}</td><td>${escape(o.action)}</td><td>${escape(o.channel.$ref.split('/').pop())}</td><td>${escape(o.summary)}</td></tr>`,
    ),
    '</table><h2>Messages</h2>',
    ...Object.entries(messages).map(([name, m]) =>
      [
        `<section id="${anchor(name)}"><h3><code>${escape(m.title)}</code></h3><p>${escape(m.summary)}</p>`,
        '<details><summary>Payload schema</summary>',
        code(m.payload),
        '</details>',
        ...(m.examples?.length ? ['<p>Example</p>', code(m.examples[0].payload)] : []),
        '</section>',
      ].join('\n'),
    ),
    '</main></body></html>',
    '',
  ].join('\n');
}
