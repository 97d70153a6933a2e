/**
 * `controlMethods(api)`: every `ControlApi` operation as a plain function
 * property calling `api`, so an object literal (the fake `startFakeVdsm`
 * returns) can carry the operations without being a class.
 */
import type { ControlApi } from './control-api.js';

/** The operations of `api`, each bound to it. */
export function controlMethods(api: ControlApi): ControlApi {
  return {
    health: () => api.health(),
    addFault: (rule) => api.addFault(rule),
    listFaults: () => api.listFaults(),
    removeFault: (id) => api.removeFault(id),
    clearFaults: () => api.clearFaults(),
    faultLog: () => api.faultLog(),
    reset: (request) => api.reset(request),
    listHosts: () => api.listHosts(),
    listDomains: () => api.listDomains(),
    listImages: (domainId) => api.listImages(domainId),
    listVolumes: (domainId, imageId) => api.listVolumes(domainId, imageId),
    getVolume: (domainId, imageId, volumeId, options) => api.getVolume(domainId, imageId, volumeId, options),
    listTasks: () => api.listTasks(),
    listLocks: () => api.listLocks(),
    listJobs: (hostId) => api.listJobs(hostId),
    abortJob: (hostId, jobId) => api.abortJob(hostId, jobId),
    writeData: (domainId, imageId, volumeId, request) => api.writeData(domainId, imageId, volumeId, request),
    checksum: (domainId, imageId, volumeId) => api.checksum(domainId, imageId, volumeId),
    advanceClock: (ms) => api.advanceClock(ms),
    invariants: () => api.invariants(),
    crash: () => api.crash(),
    restart: () => api.restart(),
    crashHost: (hostId) => api.crashHost(hostId),
    restartHost: (hostId) => api.restartHost(hostId),
    listCalls: (query) => api.listCalls(query),
    clearCalls: () => api.clearCalls(),
    metrics: () => api.metrics(),
  };
}
