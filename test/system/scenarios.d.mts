// Types for scenarios.mjs, so the unit test (test/unit/system-scenarios.test.ts) can import it.
export declare const GROUPS: readonly string[];
export declare function selectGroups(only?: string): string[];
