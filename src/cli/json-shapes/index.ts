// Every JSON shape plugback prints, by the name of its file under docs/json/ (NAME.schema.json).
import { z } from '../../config/zod.js';
import { checkDoc, configCheckDoc, drivesDoc, forgetDoc, pruneDoc, snapshotsDoc, statusDoc, versionsDoc } from './documents.js';
import { followLine, restoreLine, runLine } from './lines.js';

export const JSON_SHAPES = {
  run: runLine,
  restore: restoreLine,
  'status-follow': followLine,
  status: statusDoc,
  snapshots: snapshotsDoc,
  versions: versionsDoc,
  forget: forgetDoc,
  check: checkDoc,
  prune: pruneDoc,
  drives: drivesDoc,
  'config-check': configCheckDoc,
} as const;

export type ShapeName = keyof typeof JSON_SHAPES;

/** The JSON Schema of a shape, as docs/json/NAME.schema.json holds it. */
export function shapeJsonSchema(name: ShapeName): unknown {
  return z.toJSONSchema(JSON_SHAPES[name], { unrepresentable: 'any' });
}
