import { IceServersFile } from "./file-source.js";
import { rtcConfiguration, type IceOptions, type IceServerEntry, type RtcConfiguration } from "./ice-config.js";
import { TurnRestSource, type Fetch } from "./rest-source.js";

/** Every ICE source an operator can configure, combined. */
export interface IceProviderOptions extends IceOptions {
  /** A static iceServers JSON file, re-read on change. */
  serversFile?: string;
  /** A remote TURN REST service. */
  rest?: { url: string; key: string; fetch?: Fetch };
  now?: () => number;
  /** Problems with the file or the REST service; the provider keeps serving what it has. */
  onError?: (message: string) => void;
  /** Told when the file was re-read. */
  onReload?: (servers: number) => void;
}

/** The account name the server's own peers use on TURN. */
export const SERVER_ACCOUNT = "tessera-server";

/** How often clients should re-fetch when nothing else expires sooner, seconds. */
const STATIC_REFRESH_SECONDS = 3600;

/**
 * The ICE servers of every source, per account: STUN URIs, TURN with
 * HMAC-minted credentials, the servers file, and the TURN REST service, in
 * that order. `ttl` is the time until the first of them expires, so a client
 * refreshing at half of it never holds a stale credential.
 */
export class IceProvider {
  private readonly file: IceServersFile | undefined;
  private readonly rest: TurnRestSource | undefined;
  private readonly now: () => number;

  /** Throws when the servers file cannot be used. */
  constructor(private readonly options: IceProviderOptions) {
    this.now = options.now ?? Date.now;
    const onError = options.onError ?? (() => {});
    this.file = options.serversFile ? new IceServersFile(options.serversFile, onError, options.onReload) : undefined;
    this.rest = options.rest ? new TurnRestSource({ ...options.rest, now: this.now, onError }) : undefined;
  }

  /** What `GET /api/rtc-config` and `welcome` hand to an account. */
  async configuration(account: string): Promise<RtcConfiguration> {
    const base = rtcConfiguration(this.options, account, this.now());
    const rest = this.rest ? await this.rest.servers(account) : [];
    return this.combine(base, rest, account);
  }

  /** The servers the server's own peers use now, without waiting on the network. */
  serverPeerServers(): IceServerEntry[] {
    const base = rtcConfiguration(this.options, SERVER_ACCOUNT, this.now());
    return this.combine(base, this.rest?.cached(SERVER_ACCOUNT) ?? [], SERVER_ACCOUNT).iceServers;
  }

  close(): void {
    this.file?.close();
  }

  private combine(base: RtcConfiguration, rest: IceServerEntry[], account: string): RtcConfiguration {
    const turnMinted = Boolean(this.options.turnSecret && this.options.turnUris.length > 0);
    const ttls: number[] = [];
    if (turnMinted) ttls.push(base.ttl);
    if (rest.length > 0 && this.rest) ttls.push(this.rest.remainingSeconds(account));
    if (this.file) ttls.push(STATIC_REFRESH_SECONDS);
    return {
      iceServers: [...base.iceServers, ...(this.file?.servers ?? []), ...rest],
      iceTransportPolicy: "all",
      ttl: ttls.length > 0 ? Math.max(1, Math.min(...ttls)) : base.ttl,
    };
  }
}
