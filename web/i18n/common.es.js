// Words shared by every page, in Spanish.
export default {
  "common.language": "Idioma",
};
