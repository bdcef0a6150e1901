// The console catalog (de).
export default {
};
