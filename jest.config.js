// Runs every project's tests: each lib, each service, and the end-to-end suite.
module.exports = {
  projects: ['<rootDir>/libs/*', '<rootDir>/services/*', '<rootDir>/e2e'],
};
