// A request from outside (the D-Bus API) that cannot be carried out now, with the reason for the caller.
export class RequestError extends Error {}
