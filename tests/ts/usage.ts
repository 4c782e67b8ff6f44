// Type-checked with `tsc --noEmit -p tests/ts` in `npm test`: the README quick start, written
// against the package by its public name, plus lines that must NOT type-check (proof that the
// public signatures are precise, not `any`).
import {
  H5AccessError,
  H5Client,
  H5Session,
  init,
  takeAccessToken,
  type H5AccessErrorArgument,
  type H5AccessErrorCode,
  type H5ClientOptions,
  type JsonObject,
  type JsonValue,
} from "h5-access";

export async function quickStart(keyConfig?: string): Promise<void> {
  const at: string = takeAccessToken();
  const options: H5ClientOptions = { gateway: "https://gw.example.com", keyConfig, timeoutMs: 10000 };
  const client: H5Client = await H5Client.create(options);
  try {
    const session: H5Session = await client.exchange(at, { product: "wealth-01" });
    const page: JsonObject = session.page;
    const title: JsonValue = page["title"];
    const expires: Date = new Date(session.expiresAt);
    const quote: JsonValue = await session.call("quote", { amount_cents: 100000, months: 12 });
    const closed: boolean = session.closed;
    session.close();
    console.log(title, expires, quote, closed);
  } catch (e) {
    if (e instanceof H5AccessError) {
      const code: H5AccessErrorCode = e.code;
      const status: number | undefined = e.status;
      const detail: string | undefined = e.gatewayCode;
      const argument: H5AccessErrorArgument | undefined = e.argument;
      if (argument === "product") console.log("check the product name");
      switch (e.code) {
        case "AT_EXPIRED":
        case "AT_USED":
          break;
        case "HTTP_STATUS":
          console.log(status);
          break;
        case "LOAD_FAILED":
          console.log("check the .wasm URL, its MIME type and the CSP");
          break;
        default:
          console.log(code, detail);
      }
    }
  }
}

export async function preload(bytes: ArrayBuffer): Promise<void> {
  await init();
  await init(new URL("https://cdn.example.com/h5_access_bg.wasm"));
  await init(bytes);
}

export async function mustNotCompile(client: H5Client, session: H5Session): Promise<void> {
  // @ts-expect-error gateway is a string
  await H5Client.create({ gateway: 42 });
  // @ts-expect-error the gateway is required
  await H5Client.create({ timeoutMs: 5 });
  // @ts-expect-error product is required
  await client.exchange("at", {});
  // @ts-expect-error the answer is JSON, not a number
  const n: number = await session.call("quote", { amount_cents: 1, months: 1 });
  // @ts-expect-error a function is not JSON
  await session.call("quote", () => 1);
  // @ts-expect-error not an error code
  const c: H5AccessErrorCode = "OOPS";
  // @ts-expect-error not an argument name
  const a: H5AccessErrorArgument = "accessToken";
  // @ts-expect-error page is read-only
  session.page = {};
  // @ts-expect-error no public constructor
  new H5Client();
  console.log(n, c, a);
}
