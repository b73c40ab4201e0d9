// Jest settings for @mozaiks/llm; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'llm', rootDir: __dirname };
