// Side effect: a .bmap beside the image (or named by the job) decides what is written, ahead of
// the filesystem planner — the user or the image's publisher chose that map on purpose.
import { registerPlanner } from '../planner-choice';
import { bmapPlannerFor } from './bmap-choice';

export const BMAP_PRIORITY = 100;
registerPlanner(bmapPlannerFor, BMAP_PRIORITY);
