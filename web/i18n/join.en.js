// The join catalog (en).
export default {
};
