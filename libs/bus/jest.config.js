// Jest settings for @mozaiks/bus; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'bus', rootDir: __dirname };
