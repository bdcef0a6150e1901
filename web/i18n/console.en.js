// The console catalog (en).
export default {
};
