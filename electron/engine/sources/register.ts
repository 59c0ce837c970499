// Side-effect module: registers every decoder and planner this build has with the engine.
// Imported once by each engine entry point (worker, helper, in-process tests).
import './register-decoders';
import '../block-map/register';
import '../bmap/register';
import './url-register';
export {};
