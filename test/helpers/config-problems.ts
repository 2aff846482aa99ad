import { ConfigError, formatProblem, parseConfig } from '../../src/config/load.js';

/** The problems of a config text, as the user sees them (FILE:LINE:COL: message); empty when it is valid. */
export function configProblems(text: string, file: string): string[] {
  try {
    parseConfig(text, file);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map(formatProblem);
    throw error;
  }
  return [];
}
