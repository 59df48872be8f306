/**
 * A domain extension: code the runtime loads into a driver's domain beside the driver, when it
 * was asked to (`createRuntime({ faultInjection: true })` installs the fault injector). It gets
 * a few hooks into the domain host and serves the `extension` messages of its name. The
 * production wire protocol knows only the envelope, never what an extension does.
 */
import type { FromDomain } from './protocol.js';

/** What an extension may do inside the domain. */
export interface DomainHooks {
  exit(code: number): void;
  abort(): void;
  /** Calls a kernel service without waiting for the answer. */
  kernelCall(name: string, args: unknown): void;
  /** The next call into the driver goes through this interceptor. */
  interceptNextCall(interceptor: CallInterceptor): void;
}

export interface CallInterceptor {
  /** The call is taken and never answered. */
  swallow?: boolean;
  /** Posts the reply to a call the driver completed, instead of the plain one. */
  reply?(id: number, value: unknown, post: (message: FromDomain) => void): void;
}

export interface DomainExtension {
  name: string;
  receive(body: unknown): void;
}

/** A domain extension module's default export. */
export type DomainExtensionFactory = (hooks: DomainHooks) => DomainExtension;
