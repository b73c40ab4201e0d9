// Jest settings for @mozaiks/webhooks; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'webhooks', rootDir: __dirname };
