// Filling the templates kept in units/, udev/ and policy/: {{NAME}} placeholders, nothing else.

/** Replaces every {{NAME}} in `text`; a placeholder without a value is a bug in plugback, so it throws. */
export function fillTemplate(text: string, values: Record<string, string>, templateName: string): string {
  return text.replace(/\{\{([A-Z_]+)\}\}/g, (_match, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`template ${templateName} uses {{${key}}}, which plugback does not fill in`);
    return value;
  });
}
