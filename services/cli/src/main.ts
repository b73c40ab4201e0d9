// The `mozaiks` command's entry point.
import { validateWorkflows } from './validate.js';

const USAGE = `usage: mozaiks validate [dir]

  validate [dir]   check the workflow folder dir, or every workflow folder in it
                   (default: WORKFLOWS_DIR or ./workflows); exit code 1 on any problem`;

function main(argv: string[]): number {
  const [command, dir, ...rest] = argv;
  if (command !== 'validate' || rest.length > 0) {
    process.stderr.write(`${USAGE}\n`);
    return command === '--help' || command === '-h' ? 0 : 2;
  }
  const report = validateWorkflows(dir ?? process.env.WORKFLOWS_DIR ?? './workflows');
  for (const problem of report.problems) process.stdout.write(`${problem}\n`);
  if (report.problems.length > 0) {
    process.stderr.write(`${report.problems.length} problem(s) in ${report.checked.length} workflow(s)\n`);
    return 1;
  }
  if (report.checked.length === 0) {
    process.stderr.write('no workflow folders found\n');
    return 1;
  }
  process.stdout.write(`${report.checked.length} workflow(s) valid: ${report.checked.join(', ')}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
