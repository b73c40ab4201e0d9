// The `mozaiks` command as a library.
export { validateWorkflows } from './validate.js';
export type { ValidationReport } from './validate.js';
