// Words shared by every page, in English: the reference catalog every language must match.
export default {
  "common.language": "Language",
};
