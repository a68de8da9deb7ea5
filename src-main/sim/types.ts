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

// ---- Executing a RAM image's machine code (the emulated CPU behind a simulated board) -------------
// The simulator itself stays free of Node APIs: a Node edge (src-main/emu) implements SimEmulator and
// is injected through SimBus options. SimBoard.jump() uses it for a RAM image that is not one of the
// simulator's own loader images.

/** What the board hands the emulator at the ROM's jump. */
export interface EmulatorBoot {
  model: string;
  serial: string;
  /** Address of the image's vector table (the ROM's jump target: MSP = word 0, PC = word 1). */
  entry: number;
  /** RAM content as the ROM left it. */
  ram: { address: number; data: Uint8Array }[];
  /** Non-volatile memories the firmware can program, as 4 KB chunks that are not blank (offset from the memory's start). */
  memories: { name: string; start: number; size: number; chunks: { offset: number; data: Uint8Array }[] }[];
  /** 96-bit unique ID (RM0385 §41.1) and flash size in KB (§41.2) of this board. */
  uid: Uint8Array;
  flashSizeKb: number;
}

/** The USB device the emulated firmware became, as the host enumerated it (descriptors read from the firmware). */
export interface EmulatedUsb {
  endpoint: SimEndpoint;
  device: Uint8Array;
  configuration: Uint8Array;
  /** By string index; index 0 is the LANGID table. Missing indexes are empty. */
  strings: Uint8Array[];
}

/** How an emulated run ended. */
export type EmulatorEnd =
  /** The code left RAM for internal flash (a loader leaving to the application). */
  | { kind: 'jump'; address: number; reason: string }
  /** IWDG expiry, AIRCR.SYSRESETREQ: the chip restarts (in the ROM while BOOT0 is held). */
  | { kind: 'reset'; reason: string }
  /** A fault, an access to a register no model implements, a run that never connected, or the emulator failing. */
  | { kind: 'fault' | 'unmodelled' | 'hang' | 'error'; reason: string; address?: number; pc?: number };

export interface EmulatorEvents {
  /** The firmware connected (DCTL.SDIS cleared) and the host enumerated it. */
  enumerated(usb: EmulatedUsb): void;
  /** The firmware left the bus (DCTL.SDIS set, core reset). */
  disconnected(): void;
  /** The firmware changed a non-volatile memory: bytes at `offset` from its start. Applied at once. */
  memoryChanged(name: string, offset: number, data: Uint8Array): void;
  ended(end: EmulatorEnd): void;
}

export interface EmulatorRun {
  /** Ends the run at once (unplug, reset, the board leaving): the emulator process goes. */
  stop(): void;
}

export interface SimEmulator {
  /** Board models it can emulate ('stm32f746'); other boards behave as without an emulator. */
  readonly models: readonly string[];
  start(boot: EmulatorBoot, events: EmulatorEvents): EmulatorRun;
}
