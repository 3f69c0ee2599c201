// The one function of js-yaml these tests use (the package ships no types of its own).
declare module 'js-yaml' {
  export function load(text: string): unknown;
}
