/**
 * A tap sits on one direction of the kernel/driver boundary. It holds no policy: it sends
 * each call to its current target and, when an observer is attached, reports the call, its
 * result, or its failure to the observer and returns what the observer says. The shadow
 * manager decides where a tap points (the driver in passive mode, the shadow in active mode).
 */
export type CallTarget = (entry: string, args: unknown) => Promise<unknown>;

export interface TapObserver<Token = unknown> {
  /** Called before the call is forwarded. */
  before(entry: string, args: unknown): Token;
  /** Called with the result; its return value is what the caller gets. */
  after(token: Token, result: unknown): unknown;
  /** Called with the error; resolves or rethrows on behalf of the caller. */
  failed(token: Token, error: unknown): Promise<unknown>;
}

export interface TapRoute {
  target: CallTarget;
  observer?: TapObserver<any>;
}

export class Tap {
  readonly name: string;
  #route: TapRoute;

  constructor(name: string, route: TapRoute) {
    this.name = name;
    this.#route = route;
  }

  /** Points the tap somewhere else; calls already forwarded are not affected. */
  attach(route: TapRoute): void {
    this.#route = route;
  }

  invoke(entry: string, args: unknown): Promise<unknown> {
    const { target, observer } = this.#route;
    if (!observer) return target(entry, args);
    const token = observer.before(entry, args);
    return target(entry, args).then(
      (result) => observer.after(token, result),
      (error: unknown) => observer.failed(token, error),
    );
  }
}
