// The room catalog (es).
export default {
};
