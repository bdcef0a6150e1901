// Words shared by every page, in German.
export default {
  "common.language": "Sprache",
};
