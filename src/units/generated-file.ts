// What the unit generators hand back, and how they fill a template: types only, shared by generate.ts and the
// generators it composes (schedule.ts, mail-timer.ts) without an import circle.
import type { TemplateName } from './templates.js';

export type GeneratedFile = { path: string; content: string; purpose: string } | { path: string; symlinkTo: string; purpose: string };

export type Render = (name: TemplateName, values?: Record<string, string>) => string;
