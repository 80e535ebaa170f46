/**
 * The name this viewer goes by for the other viewers of a device (who
 * controls, who asks), picked in `#viewer-name` and kept across visits; sent
 * in `hello` and, when changed, as a `name` message. Empty means "Viewer
 * 1a2b3c", from the connection's id.
 */
const KEY = "tessera.name";
const MAX = 40;

/** The name kept from an earlier visit, if any. */
export function storedName(): string | undefined {
  const name = (localStorage.getItem(KEY) ?? "").trim().slice(0, MAX);
  return name || undefined;
}

/** Fills `input` with the kept name and calls `changed` with each new one (blank ones are kept as none, not sent). */
export function followNameField(input: HTMLInputElement, changed: (name: string) => void): void {
  input.maxLength = MAX;
  input.value = storedName() ?? "";
  input.addEventListener("change", () => {
    const name = input.value.trim().slice(0, MAX);
    input.value = name;
    if (name) localStorage.setItem(KEY, name);
    else localStorage.removeItem(KEY);
    if (name) changed(name);
  });
}
