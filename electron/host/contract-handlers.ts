// One handler per contract request, shared by the Electron router and the browser host. Handlers
// receive arguments that already passed the schema (see dispatch); they assume good input.

import type { RequestArgs, RequestName, RequestResult } from '../../shared/contract';
import { parseRequest } from '../../shared/contract-schemas';
import { BlockwiseError } from '../../shared/errors';
import { fetchCatalog } from './catalog';
import { browseFolder } from './image-browser';
import { inspectImage } from './image-inspector';
import { inspectUrl } from './url-inspector';
import { appInfo, type HostServices } from './host-services';

export type Handler<K extends RequestName> = (args: RequestArgs<K>) => Promise<RequestResult<K>>;
export type ContractHandlers = { [K in RequestName]: Handler<K> };

export interface HostSpecific {
  host: 'electron' | 'web';
  /** The native open-image dialog; hosts without one leave it out. */
  pickImage?: () => Promise<RequestResult<'image.pick'>>;
  /** The native save dialog for a backup, opened at `suggested`; the chosen path, or null. */
  pickBackupFile?: (suggested: string) => Promise<string | null>;
}

export function createContractHandlers(services: HostServices, specific: HostSpecific): ContractHandlers {
  return {
    'app.info': async () => appInfo(specific.host),
    'drives.list': () => services.drives.list(),
    'drives.check': (args) => services.flash.check(args.driveId),
    'drives.checkCancel': async (args) => services.flash.cancelCheck(args.driveId),
    'drives.backupName': async (args) => services.flash.backupName(args.driveId),
    'drives.backup': (args) => services.flash.backup(args.driveId, args.file),
    'drives.backupCancel': async (args) => services.flash.cancelBackup(args.driveId),
    'drives.backupPick': async (args) => {
      if (!specific.pickBackupFile) throw new BlockwiseError('INVALID_REQUEST', 'This host has no native file dialog; type the path of the backup instead.');
      const file = await specific.pickBackupFile(args.file);
      return file ? { file } : null;
    },
    'image.pick': async () => {
      if (!specific.pickImage) {
        throw new BlockwiseError('INVALID_REQUEST', 'This host has no native file dialog; browse for the image with image.browse instead.');
      }
      return specific.pickImage();
    },
    'catalog.list': async (args) => fetchCatalog(args.url ?? (await services.settings.get()).catalogUrl),
    // The schema let exactly one of path and url through.
    'image.inspect': (args) => (args.url !== undefined ? inspectUrl(args.url, args.entry) : inspectImage(args.path ?? '', args.entry)),
    'image.browse': (args) => browseFolder(args.dir, services.browseStart),
    'flash.start': (args) => services.flash.start(args),
    'flash.cancel': async (args) => services.flash.cancel(args.jobId),
    'flash.jobs': async () => services.flash.listed(),
    'settings.get': () => services.settings.get(),
    'settings.set': (args) => services.settings.set(args),
  };
}

/** Validates name and args (throws INVALID_REQUEST), then runs the handler. */
export async function dispatch(handlers: ContractHandlers, name: unknown, args: unknown): Promise<unknown> {
  const request = parseRequest(name, args);
  const handler = handlers[request.name] as Handler<RequestName>;
  return handler(request.args);
}
