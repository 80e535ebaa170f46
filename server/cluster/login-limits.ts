/**
 * Failed sign-ins counted across the cluster: the same token bucket per
 * client address as LoginLimiter, kept in Redis (one hash per address,
 * updated by a Lua script so that nodes never race), so that a client
 * spreading its guesses over the nodes gets no more of them. While Redis
 * is unreachable each node falls back to its own LoginLimiter: limits stay
 * on, per node.
 */
import type { Redis } from "ioredis";
import { LoginLimiter, type LoginLimits } from "../auth/login-limiter.js";

/** KEYS[1] the address's hash; ARGV burst, per-minute rate, now (ms), and 1 to take a token. Returns ms until a token is back (0: one is there). */
const BUCKET = `
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local take = ARGV[4] == "1"
local tokens = tonumber(redis.call("HGET", KEYS[1], "tokens")) or burst
local at = tonumber(redis.call("HGET", KEYS[1], "at")) or now
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 60000)
  at = now
end
if take then
  tokens = math.max(0, tokens - 1)
  redis.call("HSET", KEYS[1], "tokens", tostring(tokens), "at", tostring(at))
  redis.call("PEXPIRE", KEYS[1], math.ceil((burst - tokens) * 60000 / rate) + 1000)
end
if tokens >= 1 then return 0 end
return math.ceil((1 - tokens) * 60000 / rate)
`;

export class SharedLoginLimits implements LoginLimits {
  private readonly local: LoginLimiter;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly burst = 10,
    readonly ratePerMinute = 10,
  ) {
    this.local = new LoginLimiter(burst, ratePerMinute);
  }

  async retryAfter(address: string, nowMs: number): Promise<number> {
    try {
      return (await this.bucket(address, nowMs, false)) / 1000;
    } catch {
      return this.local.retryAfter(address, nowMs);
    }
  }

  async failed(address: string, nowMs: number): Promise<void> {
    this.local.failed(address, nowMs);
    try {
      await this.bucket(address, nowMs, true);
    } catch {
      // Counted locally: the local limiter stands in while Redis is away.
    }
  }

  private async bucket(address: string, nowMs: number, take: boolean): Promise<number> {
    const ms = await this.redis.eval(BUCKET, 1, `${this.prefix}login:${address}`, this.burst, this.ratePerMinute, Math.round(nowMs), take ? "1" : "0");
    return Number(ms);
  }
}
