export * from './admin-json.js';
export {
  AdminApiError,
  AdminClient,
  adminClientsUrl,
  ClientExistsError,
  unlessNotFound,
  type AdminClientOptions,
  type AdminFailure,
} from './admin-client.js';
