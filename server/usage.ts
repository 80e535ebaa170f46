/** The server's --help text; README's options table says the same. */
export const USAGE = `Usage: tessera [options]

  -i, --host ADDR          address to listen on (default 127.0.0.1)      TESSERA_HOST
  -p, --port N             port to listen on (default 8080; 0 = any)      TESSERA_PORT
      --source test|none   publish the built-in test device (default test) TESSERA_SOURCE
      --source-codec vp8|h264  codec of the test device (default vp8)     TESSERA_SOURCE_CODEC
      --source-motion moving|still  the test device's picture: a moving
                           ball, or a still screen with a ticking clock    TESSERA_SOURCE_MOTION
      --ice-host ADDR      only host address the server's peers use;
                           repeatable (default: every interface)          TESSERA_ICE_HOST (comma-separated)
      --log-level LEVEL    debug|info|warn|error|silent (default info)    TESSERA_LOG_LEVEL
      --control-idle S     seconds before an idle controller loses control
                           (default 300)                                  TESSERA_CONTROL_IDLE
      --input-rate N       input lines per second per viewer, bursts of
                           N/2 above it (default 500)                     TESSERA_INPUT_RATE
      --stun-uri URI       STUN server for clients; repeatable (default none) TESSERA_STUN_URI
      --turn-uri URI       TURN server for clients (turn:host:port?transport=udp);
                           repeatable; needs --turn-secret                 TESSERA_TURN_URI
      --turn-secret S      coturn static-auth-secret: clients get REST
                           credentials "<expiry>:<account>"                TESSERA_TURN_SECRET
      --turn-ttl S         credential lifetime, seconds (default 86400)   TESSERA_TURN_TTL
      --ice-servers-file F JSON iceServers for clients and the server's
                           peers; re-read on change; not a symlink and
                           not world-writable                             TESSERA_ICE_SERVERS_FILE
      --turn-rest-url URL  TURN REST service, asked with
                           ?service=turn&username=<account>&key=<key>     TESSERA_TURN_REST_URL
      --turn-rest-key K    the key for --turn-rest-url                    TESSERA_TURN_REST_KEY
      --ice-port-range A-B UDP ports the server's peers use (e.g. 40000-40999) TESSERA_ICE_PORT_RANGE
      --public-ip ADDR     address advertised in the server's candidates
                           (a host behind 1:1 NAT)                        TESSERA_PUBLIC_IP
      --ice-interface NAME network interface the server's peers use;
                           repeatable (default: every interface)          TESSERA_ICE_INTERFACE (comma-separated)
      --metrics-token T    require "Authorization: Bearer T" on /metrics  TESSERA_METRICS_TOKEN
      --fallback-quality Q JPEG quality of WebSocket fallback stripes
                           (default 40)                                   TESSERA_FALLBACK_QUALITY
      --fallback-paint-over-quality Q  quality of a still stripe's
                           re-send (default 90)                           TESSERA_FALLBACK_PAINT_OVER_QUALITY
      --fallback-stripe-height N  rows per stripe, multiple of 16
                           (default 0: 64, or fewer taller ones)          TESSERA_FALLBACK_STRIPE_HEIGHT
      --fallback-max-fps N highest frame rate a fallback viewer gets
                           (default 30)                                   TESSERA_FALLBACK_MAX_FPS
      --max-frame-bytes N  largest JPEG a frame device may push
                           (default 4194304)                              TESSERA_MAX_FRAME_BYTES
      --snapshot-ttl S     lifetime of a signed snapshot URL (default 600) TESSERA_SNAPSHOT_TTL
      --snapshot-max-ttl S longest lifetime one may ask for (default 86400) TESSERA_SNAPSHOT_MAX_TTL
      --auth none|basic|firebase  who may use the server (default none: one
                           local account, loopback --host only)           TESSERA_AUTH
      --insecure-no-auth   allow --auth none on a non-loopback --host     TESSERA_INSECURE_NO_AUTH
  -a                       shorthand for --auth basic
  -d, --display            open the dashboard (every device's picture in
                           a grid, /grid.html) in a browser once listening TESSERA_DISPLAY
      --data-dir DIR       users.json, device keys (tessera.db), secrets and
                           snapshots (default ./data, created 0700)       TESSERA_DATA_DIR
      --firebase-project ID  Firebase project whose ID tokens are accepted
                           (--auth firebase)                              TESSERA_FIREBASE_PROJECT
      --firebase-check-revoked  also refuse revoked Firebase tokens       TESSERA_FIREBASE_CHECK_REVOKED
      --firebase-web-config FILE  JSON web config of the Firebase project
                           ({apiKey, authDomain, projectId}): the pages sign
                           in with e-mail and password through the
                           Firebase SDK (default: they ask for an ID token) TESSERA_FIREBASE_WEB_CONFIG
      --allowed-origins URL  another origin whose pages may open the
                           WebSockets and call WHIP/WHEP; repeatable      TESSERA_ALLOWED_ORIGINS (comma-separated)
      --trust-proxy        behind a reverse proxy: client addresses (rate
                           limits) from X-Forwarded-For, one hop          TESSERA_TRUST_PROXY
      --public-url URL     origin of outside links (snapshot URLs), e.g.
                           https://stream.example.org                     TESSERA_PUBLIC_URL
      --tls-cert FILE      PEM certificate (chain): HTTPS and WSS on the
                           same port; re-read when it changes             TESSERA_TLS_CERT
      --tls-key FILE       its PEM private key                            TESSERA_TLS_KEY
  -c, --config FILE        JSON file with any of the options above,
                           keys in camelCase (e.g. {"port": 9000})       TESSERA_CONFIG
  -h, --help               print this help

Users (--auth basic), in --data-dir:
  tessera users add NAME [--password-stdin]   the password is read from stdin
  tessera users remove NAME
  tessera users list

Set-up:
  tessera doctor           what each feature needs, what is missing here,
                           and the command that installs it
`;
