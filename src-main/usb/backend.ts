// Where USB devices come from. Production: the `usb` package v3 (./node-usb.ts); tests, demos and
// `--sim`: the simulated bus (../sim/). Both hand out WebUSB `USBDevice` objects, so every layer above
// works on that one interface.

export interface UsbBackend {
  /** Devices currently attached. */
  getDevices(): Promise<USBDevice[]>;
  /** Hot-plug events; each returns a function that unsubscribes. Events can be missed: callers also poll. */
  onConnect(listener: (device: USBDevice) => void): () => void;
  onDisconnect(listener: (device: USBDevice) => void): () => void;
  /** Physical port path ("1-2.3") when the backend knows it; used to pair re-enumerations when serials are absent. */
  portPath(device: USBDevice): string | undefined;
}
