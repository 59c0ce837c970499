// Side effect: makes filesystem-aware sparse writing the default planner.
import { registerPlanner } from '../planner-choice';
import { filesystemPlannerFor } from './filesystem-planner';

registerPlanner(filesystemPlannerFor);
