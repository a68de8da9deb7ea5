// The raw face of a simulated board: one USB control transfer in, one answer out. The simulator's
// WebUSB USBDevice is built on it, and so is the virtual-USB test harness that hands transfers from a
// real host stack (the `usb` package, dfu-util) to the simulator.

export interface SetupPacket {
  bmRequestType: number;
  bRequest: number;
  wValue: number;
  wIndex: number;
  wLength: number;
}

export type ControlAnswer =
  | { status: 'ok'; data?: Uint8Array; bytesWritten?: number }
  | { status: 'stall' }
  /** The device is gone (unplugged or left the bus mid-transfer). */
  | { status: 'disconnected' };

export interface SimEndpoint {
  /** Handles one control transfer. `data` is the OUT data stage (undefined for IN transfers). */
  control(setup: SetupPacket, data?: Uint8Array): Promise<ControlAnswer>;
}
