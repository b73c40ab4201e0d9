// The benchmark's tool: small enough that the figures show the runner's cost, not the tool's.
export const add = ({ a, b }) => ({ sum: a + b });
