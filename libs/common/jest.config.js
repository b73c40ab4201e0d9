// Jest settings for @mozaiks/common; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'common', rootDir: __dirname };
