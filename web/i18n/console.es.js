// The console catalog (es).
export default {
};
