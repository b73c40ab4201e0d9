// Jest settings for @mozaiks/tool-runner; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'tool-runner', rootDir: __dirname };
