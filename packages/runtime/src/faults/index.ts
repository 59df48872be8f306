/** Fault injection: the kinds of fault the runtime can inject into a driver, as data. */
export { faultKinds, nativeFaultKinds, allFaultKinds, isFaultKind, actsOnNextCall, type FaultKind, type InjectedFault } from './fault-kinds.js';
