// The `mozaiks` command as a library.
export { validateWorkflows } from './validate.js';
export type { ValidationReport } from './validate.js';
export { MigrateUsageError, migrateStore } from './store-migrate.js';
export type { MigrateOptions } from './store-migrate.js';
